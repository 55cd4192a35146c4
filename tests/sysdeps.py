"""System packages some tests need (Debian), and the command that installs them.

The map tests need ``chromium`` (headless browser) and a CJK font (``fonts-wqy-microhei``).
No fixture installs anything: ``.ci/run`` installs them before the tests when it runs as root
with apt-get (CI, a container); elsewhere the tests that need them skip with the command that
would install them, which pytest's ``-ra`` summary prints.
"""

from __future__ import annotations

__all__ = ["SYSTEM_PACKAGES", "INSTALL_COMMAND", "install_hint"]

#: Debian packages the test suite uses: browser tests and CJK figure labels (.ci/run installs them).
SYSTEM_PACKAGES = ("chromium", "fonts-wqy-microhei")

#: What installs them (printed in a skip reason; .ci/run runs it as root).
INSTALL_COMMAND = f"apt-get install -y --no-install-recommends {' '.join(SYSTEM_PACKAGES)}"


def install_hint() -> str:
    """The skip reason's second half: how to install :data:`SYSTEM_PACKAGES`."""
    return f"install with: sudo {INSTALL_COMMAND} (.ci/run does it when run as root)"
