"""The datasets a Table 1 grid can run on: which gin files make each (protocol, n) cell.

Why a table and not strings in the driver: a grid names its dataset everywhere (run folders
`<dataset>_n<n>`, the report's title, the paper column), and the dataset a run really loads is
what gin says (`load_image_classification.name`), which a user may rebind
(`--gin_bindings="load_image_classification.name = 'fashion_mnist'"`). `resolved_name` reads it
from the gin files and the grid's bindings, so such a grid is titled and foldered by the data it
ran on, and a paper column appears only where the paper has that dataset and n.
A new dataset is one entry here plus its gin files.
"""
import collections

import gin

GridDataset = collections.namedtuple(
    "GridDataset", "key base_gin n_files authors_files default_ns needs_original_npz "
    "authors_text data_note")
"""key: the grid's name (`table1-<key>`); base_gin: the recipe at the smallest n; n_files:
{n: extra gin files}; authors_files: {n: the authors' protocol files} (n missing: the smallest
n's); default_ns: the grid's n values; needs_original_npz: the authors' subset needs a
Keras-layout .npz in the original file order (MNIST; CIFAR-10's tfds ids give the order);
authors_text: what the authors' protocol is, for the report; data_note: what the report must say
about the data."""

DATASETS = {
    "mnist": GridDataset(
        key="mnist", base_gin="mnist.gin",
        n_files={100: [], 1000: ["mnist_n1000.gin"], 10000: ["mnist_n10000.gin"]},
        authors_files={100: ["authors.gin"], 1000: ["authors.gin", "authors_n1000.gin"],
                       10000: ["authors.gin", "authors_n10000.gin"]},
        default_ns=(100, 1000, 10000), needs_original_npz=True,
        authors_text="last-n subset (original file order), augmentation in the game, authors' "
                     "loss weights, best test accuracy seen during training",
        data_note=""),
    "cifar10": GridDataset(
        key="cifar10", base_gin="cifar10.gin",
        n_files={500: [], 5000: ["cifar10_n5000.gin"], 25000: ["cifar10_n25000.gin"],
                 50000: ["cifar10_n50000.gin"]},
        authors_files={50000: ["cifar10_authors.gin", "cifar10_authors_n50000.gin"],
                       500: ["cifar10_authors.gin"]},
        default_ns=(500, 5000, 25000, 50000), needs_original_npz=False,
        authors_text="first n/10 images per class in the original file order, per-image "
                     "standardisation, pad-crop-flip augmentation, best test accuracy seen "
                     "during training",
        data_note="tensorflow-datasets `cifar10` 3.0.2. The copy in this workplace "
                  "(../shared/tensorflow_datasets) was rebuilt from a JPEG export of CIFAR-10 "
                  "(quality 75): its pixels differ from the original by about 6/255 on average "
                  "(up to ~70/255), so small differences from published accuracies are expected "
                  "(../shared/data/README.md). The test set is stored sorted by class."),
}
HONEST_TEXT = "stratified subset, validation-selected epoch, mean ± std over seeds"


def protocol_files(dataset, protocol, n):
  """The gin files of one grid cell, before the method's file."""
  files = [dataset.base_gin] + list(dataset.n_files.get(n, []))
  if protocol == "authors":
    files += dataset.authors_files.get(n, dataset.authors_files[min(dataset.authors_files)])
  return files


def resolved_name(dataset, extra_bindings=()):
  """The tfds name the grid's runs load: the base gin file's, or the grid's rebinding of it."""
  from kdgan_tf.config import parse_config  # pylint: disable=g-import-not-at-top
  from kdgan_tf import experiment  # noqa: F401  pylint: disable=g-import-not-at-top
  gin.clear_config()
  try:
    parse_config([dataset.base_gin], list(extra_bindings))
    return gin.query_parameter("load_image_classification.name")
  finally:
    gin.clear_config()
