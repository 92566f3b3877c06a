"""The Table 1 / figures grids behind `python -m kdgan_tf.reproduce`, one job per module.

Why a package: the driver mixed what a grid is, how workers train it, which records it keeps,
what its numbers are and how REPORT.md prints them; each can now be read (and tested) alone.

  definition.py  the cells of a grid (protocol x n x method x seed, Figure 4 / 7 runs), their
                 run folders and gin files, the files a run folder holds, sharding
  scheduling.py  training the unfinished runs under claims, driver.json, failures.json, a
                 grid's fixed bindings
  records.py     finding finished runs, archiving their records to results/<grid>/records and
                 restoring them into a runs folder
  rows.py        one finished run's record -> its runs.csv row
  stats.py       mean ± std over seeds, the reported number, paired differences (leaf module:
                 also used by the Table 2 report and the game diagnostics)
  report.py      REPORT.md, runs.csv, table1.json, the figures section, README's Table 1

kdgan_tf/reproduce.py is the command line (flags, subcommands) over these. Nothing is imported
here, so that importing one module (e.g. stats) never pulls in the others.
"""
