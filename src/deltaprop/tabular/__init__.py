"""Tables for the command: reading CSV/Parquet (:mod:`.read`), encoding columns and targets
(:mod:`.encode`), and the command's model (:class:`TabularModel`, :mod:`.model`)."""

from deltaprop.tabular.encode import FeatureEncoder, TargetEncoder, detect_task
from deltaprop.tabular.model import TabularModel
from deltaprop.tabular.read import read_table

__all__ = ["FeatureEncoder", "TabularModel", "TargetEncoder", "detect_task", "read_table"]
