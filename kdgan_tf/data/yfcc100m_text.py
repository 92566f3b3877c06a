"""The text side of the YFCC100M builder: a photo's privileged text (title + description) as
words and token ids, and its user tags (steps 5 and 1 in docs/yfcc100m.md).

Why its own module: these are pure functions of strings, tested by hand on their own, while
the builder around them reads files and writes tfds records.
"""
import collections
import html
import re
import unicodedata
import urllib.parse

import numpy as np

PAD, UNK = "<pad>", "<unk>"

# English stop-words (the usual list, as in NLTK's "english" corpus, letters-only forms).
STOP_WORDS = frozenset("""
a about above after again against ain all am an and any are aren as at be because been before
being below between both but by can couldn d did didn do does doesn doing don down during each
few for from further had hadn has hasn have haven having he her here hers herself him himself
his how i if in into is isn it its itself just ll m ma me mightn more most mustn my myself
needn no nor not now o of off on once only or other our ours ourselves out over own re s same
shan she should shouldn so some such t than that the their theirs them themselves then there
these they this those through to too under until up ve very was wasn we were weren what when
where which while who whom why will with won wouldn y you your yours yourself yourselves
""".split())

_HTML_TAG = re.compile(r"<[^>]*>")
_URL = re.compile(r"(?:https?|ftp)://\S+|www\.\S+", re.IGNORECASE)
_WORD = re.compile(r"[a-z]+")
MIN_WORD_LENGTH = 3


def photo_text(title, description):
  """The raw (still URL-encoded) privileged text of a photo: title + " " + description."""
  return f"{title} {description}"


def tokenize_text(text):
  """Words of a (URL-encoded) title/description string, see step 5 in docs/yfcc100m.md."""
  text = urllib.parse.unquote_plus(text)
  text = html.unescape(_HTML_TAG.sub(" ", text))
  text = _URL.sub(" ", text)
  text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
  return [w for w in _WORD.findall(text) if len(w) >= MIN_WORD_LENGTH and w not in STOP_WORDS]


def parse_tags(field):
  """The user-tag field -> sorted unique lower-cased, URL-unquoted tags."""
  tags = {urllib.parse.unquote_plus(t).strip().lower() for t in field.split(",")}
  tags.discard("")
  return sorted(tags)


def build_vocabulary(token_lists, min_count=1):
  """["<pad>", "<unk>", words with count >= min_count by count desc, ties alphabetical]."""
  counts = collections.Counter(w for tokens in token_lists for w in tokens)
  words = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
  return [PAD, UNK] + words


def encode_tokens(tokens, index, max_length):
  """Token ids (unknown words -> 1), truncated to max_length and padded with 0 at the end."""
  ids = [index.get(w, 1) for w in tokens[:max_length]]
  return np.asarray(ids + [0] * (max_length - len(ids)), np.int32)
