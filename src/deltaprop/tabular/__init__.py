"""Tables for the command: reading CSV/Parquet, encoding columns and targets, and the
command's model (:class:`TabularModel`)."""

from deltaprop.tabular.model import FeatureEncoder, TabularModel, TargetEncoder, read_table

__all__ = ["FeatureEncoder", "TabularModel", "TargetEncoder", "read_table"]
