"""Stand-in for the get-pip.py script that ansible-test downloads to bootstrap pip in its venvs.

Its download host is not reachable from this project's machines; ansible-test's own error message
says to save a bootstrap script to its cache path instead. This one bootstraps pip with the
interpreter's ensurepip, then installs the packages ansible-test asked for from the package index.
"""
import subprocess
import sys

GET_PIP_ONLY_FLAGS = {"--no-setuptools", "--no-wheel"}
args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_FLAGS]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
subprocess.check_call([sys.executable, "-m", "pip", "install", "--upgrade", *args])
