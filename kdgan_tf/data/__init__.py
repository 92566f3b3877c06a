"""Data: loading (one module per dataset), subset/validation selection, augmentation, pipelines."""
from kdgan_tf.data.splits import DataSplits, make_split_indices
