"""The network probes of Detect: one check of a component against its probe settings.

`ProbeChecker.check` runs an HTTP(S), TCP, DNS or SIP OPTIONS probe once, within its timeout,
and returns a `CheckResult`; it never raises. `FakeChecker` stands in for it in tests.
"""

from standby.detect.probes.checker import ProbeChecker
from standby.detect.probes.fake import FakeChecker
from standby.detect.probes.result import Checker, CheckResult, NetworkProbe

__all__ = ["CheckResult", "Checker", "FakeChecker", "NetworkProbe", "ProbeChecker"]
