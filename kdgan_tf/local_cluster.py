"""Several `python -m kdgan_tf.train --strategy=multi_worker` workers on THIS machine (loopback
ports): for tests and benchmarks, and to try multi-worker training before using a cluster.

  python -m kdgan_tf.local_cluster --workers=2 -- --gin_file=mnist.gin --model_dir=DIR

A worker that fails leaves the others waiting in collective ops, so `LocalCluster.wait` kills
them all at the first failure or at the timeout: nothing is left hanging.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_ports(count):
  """`count` loopback ports that were free a moment ago (the OS picks them)."""
  sockets = [socket.socket() for _ in range(count)]
  try:
    for s in sockets:
      s.bind(("127.0.0.1", 0))
    return [s.getsockname()[1] for s in sockets]
  finally:
    for s in sockets:
      s.close()


def tf_config(ports, index):
  """TF_CONFIG of worker `index` in a cluster of loopback workers (worker 0 is the chief)."""
  return json.dumps({"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                     "task": {"type": "worker", "index": index}})


class LocalCluster:
  """Starts `num_workers` training processes with the same `args`; `worker_env[i]` adds
  environment variables to worker i (e.g. its own TMPDIR)."""

  def __init__(self, args, num_workers=2, worker_env=None):
    ports = free_ports(num_workers)
    self.procs, self._logs = [], []
    for i in range(num_workers):
      env = dict(os.environ, TF_CONFIG=tf_config(ports, i), **((worker_env or {}).get(i, {})))
      env["PYTHONPATH"] = os.pathsep.join(p for p in (REPO, env.get("PYTHONPATH")) if p)
      out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
      self._logs.append((out, err))
      self.procs.append(subprocess.Popen(
          [sys.executable, "-m", "kdgan_tf.train", "--strategy=multi_worker", *args],
          stdout=out, stderr=err, env=env, cwd=REPO))

  def kill(self):
    for proc in self.procs:
      if proc.poll() is None:
        proc.kill()
      proc.wait()

  def wait(self, timeout):
    """[(returncode, stdout, stderr)] per worker; kills all at the first failure or after
    `timeout` seconds (then raises TimeoutError with the workers' output tails)."""
    deadline = time.time() + timeout
    try:
      while any(p.poll() is None for p in self.procs):
        if any(p.poll() not in (None, 0) for p in self.procs):
          break  # one failed: the others would wait for it until their collectives time out
        if time.time() > deadline:
          self.kill()
          tails = "\n".join(f"worker {i}: {err[-1500:]}" for i, (_, _, err) in
                            enumerate(self._results()))
          raise TimeoutError(f"workers still running after {timeout} s\n{tails}")
        time.sleep(0.05)
    finally:
      self.kill()
    return self._results()

  def _results(self):
    results = []
    for proc, (out, err) in zip(self.procs, self._logs):
      out.seek(0)
      err.seek(0)
      results.append((proc.returncode, out.read(), err.read()))
    return results


def main(argv):
  """--workers=N -- TRAIN_ARGS: runs N local workers, prints the chief's output."""
  count, args = 2, argv
  if args and args[0].startswith("--workers="):
    count, args = int(args[0].split("=", 1)[1]), args[1:]
  if args and args[0] == "--":
    args = args[1:]
  results = LocalCluster(args, count).wait(timeout=24 * 3600)
  for i, (code, out, err) in enumerate(results):
    if code:
      sys.stderr.write(f"worker {i} exited with {code}:\n{err[-3000:]}\n")
  sys.stdout.write(results[0][1])
  return max(abs(code or 0) for code, _, _ in results)


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
