"""The README's shell agent loop is client/demo/shell_agent.sh's, which the
demo runs (and so the `demo` test): fails when the two drift apart."""
import pathlib
import sys

root = pathlib.Path(sys.argv[1])
script = (root / "client/demo/shell_agent.sh").read_text()
loop = script[script.index("me=$1 boss=$2"):]
readme = (root / "README.md").read_text()
if "```sh\n" + loop + "```" not in readme:
    sys.exit("README.md's 'A coding agent in shell' block is not client/demo/shell_agent.sh's loop")
print("README's shell agent loop is the one the demo runs")
