"""Can this Python run the project?  `python -I kdgan_tf/env_check.py CHECKOUT` (used by run.sh).

Why: `python -c "import kdgan_tf"` from the checkout succeeds with nothing installed (the
package folder is on sys.path, and kdgan_tf/__init__.py imports nothing heavy), so run.sh used to
skip the install. This script runs isolated (`-I`: neither the working directory nor PYTHONPATH
is on sys.path), imports nothing of the project and nothing heavy, and checks, in well under a
second:
  1. kdgan_tf resolves to CHECKOUT/kdgan_tf (installed from this checkout, e.g. `pip install -e`);
  2. every requirement of the installed kdgan-tf (with its `test` extra) and of
     CHECKOUT/requirements.txt is installed at an allowed version, recursively through their own
     requirements, so a `.venv` whose install was interrupted half-way fails;
  3. the main modules of those requirements can be found on disk.
Silent with exit code 0 when all hold; otherwise one line saying what is missing, exit code 1.
"""
import importlib.metadata as metadata
import importlib.util
import os
import sys

# Modules the project imports, by the distribution that provides them.
MODULES = ("tensorflow", "tensorflow_probability", "tf_keras", "keras", "tensorflow_datasets",
           "absl", "gin", "tensorboard", "ai_edge_litert", "tqdm", "numpy", "matplotlib",
           "pytest", "xdist")


def _requirement_class():
  try:
    from packaging.requirements import Requirement  # pylint: disable=g-import-not-at-top
  except ImportError:
    try:  # pip vendors packaging: present in any venv that has pip
      from pip._vendor.packaging import requirements  # pylint: disable=g-import-not-at-top
      Requirement = requirements.Requirement  # pylint: disable=invalid-name
    except ImportError:
      return None
  return Requirement


def _file_requirements(path):
  with open(path) as f:
    for line in f:
      line = line.split("#", 1)[0].strip()
      if line and not line.startswith("-"):
        yield line


def problems(checkout):
  """Returns a list of reasons why this interpreter cannot run the project (empty: it can)."""
  spec = importlib.util.find_spec("kdgan_tf")
  expected = os.path.realpath(os.path.join(checkout, "kdgan_tf", "__init__.py"))
  if spec is None or spec.origin is None:
    return ["kdgan-tf is not installed"]
  if os.path.realpath(spec.origin) != expected:
    return [f"kdgan_tf is installed from {os.path.dirname(spec.origin)}, not from this checkout"]
  requirement = _requirement_class()
  if requirement is None:
    return ["neither packaging nor pip is installed"]
  try:
    own = metadata.requires("kdgan-tf") or []
  except metadata.PackageNotFoundError:
    return ["kdgan-tf's package metadata is missing"]
  pending = [(requirement(r), {"test"}) for r in own]
  requirements_txt = os.path.join(checkout, "requirements.txt")
  if os.path.isfile(requirements_txt):
    pending += [(requirement(r), set()) for r in _file_requirements(requirements_txt)]
  seen, found = set(), []
  while pending:
    req, extras = pending.pop()
    if req.marker is not None and not any(req.marker.evaluate({"extra": e})
                                          for e in (extras or {""})):
      continue
    key = (req.name.lower().replace("_", "-"), str(req.specifier), tuple(sorted(req.extras)))
    if key in seen:
      continue
    seen.add(key)
    try:
      dist = metadata.distribution(req.name)
    except metadata.PackageNotFoundError:
      found.append(f"{req} is not installed")
      continue
    if not req.specifier.contains(dist.version, prereleases=True):
      found.append(f"{req.name} {dist.version} is installed but {req} is required")
      continue
    pending += [(requirement(r), set(req.extras)) for r in (dist.requires or [])]
  found += [f"module {m} is missing" for m in MODULES if importlib.util.find_spec(m) is None]
  return found


def main(argv):
  checkout = argv[1] if len(argv) > 1 else os.path.dirname(os.path.dirname(
      os.path.abspath(__file__)))
  found = problems(checkout)
  if found:
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    print(f"{found[0]}{more}")
    return 1
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv))
