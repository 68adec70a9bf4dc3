"""The training report: one self-contained HTML page per trained model."""
