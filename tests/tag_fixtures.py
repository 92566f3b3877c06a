"""A tiny generated tagging problem with privileged views, written in the bring-your-own layout
(kdgan_tf/data/npz_dataset.py). The privileged views carry the answer more clearly than the
image view, as text does for photos."""
import numpy as np


def write_tag_npz(path, tokens=False, train=60, val=20, test=20, tags=6, seed=0):
  rng = np.random.RandomState(seed)
  arrays = {}
  for split, count in (("train", train), ("val", val), ("test", test)):
    ids = rng.randint(0, tags // 2, count)
    labels = np.zeros((count, tags), np.uint8)
    labels[np.arange(count), 2 * ids] = 1
    labels[np.arange(count), 2 * ids + 1] = (rng.rand(count) < 0.7)
    image = rng.rand(count, 8).astype(np.float32) * 0.5
    image[np.arange(count), ids] += 0.5  # a weak signal for the classifier
    arrays[f"{split}_image"] = image
    if tokens:  # word id 1 + cluster, then padding
      text = np.zeros((count, 4), np.int32)
      text[:, 0] = 1 + ids
      text[:, 1] = rng.randint(1, 5, count)
      arrays[f"{split}_text"] = text
    else:
      privileged = np.zeros((count, 3), np.float32)
      privileged[np.arange(count), ids] = 1.0
      arrays[f"{split}_privileged"] = privileged
    arrays[f"{split}_labels"] = labels
  arrays["label_names"] = np.asarray([f"tag{i}" for i in range(tags)])
  if tokens:
    arrays["vocabulary_text"] = np.asarray(["<pad>", "a", "b", "c", "d"])
  arrays["name"] = np.asarray("tiny_tags")
  np.savez(path, **arrays)
  return path
