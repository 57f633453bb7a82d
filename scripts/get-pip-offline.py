"""Stand-in for the get-pip.py that ansible-test downloads to bootstrap pip.

ansible-test fetches its pip bootstrap from a host we cannot reach. It looks
for a cached copy first (~/.ansible/test/cache/get_pip_<version>.py);
scripts/sanity puts this file there. Like get-pip.py, it is run with pip
install arguments (e.g. `pip==24.2 --no-setuptools --no-wheel`): it installs
the pip that ships with Python (ensurepip), then lets that pip install what
was asked for from the package index.
"""

import subprocess
import sys

GET_PIP_ONLY_OPTIONS = {"--no-setuptools", "--no-wheel"}


def main() -> None:
    # In a child process: ensurepip turns off pip's configuration files in
    # its own environment, and the install below needs them (index, CA).
    subprocess.run([sys.executable, "-m", "ensurepip", "--upgrade"], check=True, stdout=subprocess.DEVNULL)
    requested = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_OPTIONS]
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *requested], check=True)


main()
