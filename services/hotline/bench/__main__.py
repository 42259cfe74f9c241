"""`python -m hotline.bench`: the `hotline bench` command, runnable before it is wired into main.py."""

from hotline.cli.bench_commands import bench_command

bench_command()
