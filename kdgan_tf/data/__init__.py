"""Data: loading (one module per dataset), subset/validation selection, augmentation, pipelines.

Image classification (Table 1): image_classification, splits, augment, pipeline.
Multi-label tag recommendation with privileged information (Table 2): npz_dataset (the
interface and the bring-your-own .npz layout), corel5k, yfcc100m (a tfds builder, imported on
use because it loads tensorflow-datasets' builder machinery), image_features (VGG16 fc7).
"""
from kdgan_tf.data.splits import DataSplits, Split, make_split_indices
