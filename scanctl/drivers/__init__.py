"""Scanner inputs (serial, HID, TCP, stdin, simulated) and feedback outputs."""

from scanctl.drivers.aim import AIM_FAMILIES, AIM_IDENTIFIERS, SymbologyFilter, describe, split_aim
from scanctl.drivers.backoff import Backoff, OutageLog, Reconnector
from scanctl.drivers.counters import DriverCounters
from scanctl.drivers.errors import (
    DeviceNotFoundError,
    DeviceUnavailableError,
    DriverConfigError,
    DriverError,
    UnknownLayoutError,
)
from scanctl.drivers.feedback import (
    SSI_BEEP_BAD,
    SSI_BEEP_GOOD,
    FeedbackEncoder,
    FeedbackProtocol,
    honeywell_host_ack,
    ssi_checksum,
    zebra_ssi_beep,
)
from scanctl.drivers.framing import (
    DEFAULT_INTER_BYTE_TIMEOUT,
    DEFAULT_MAX_LENGTH,
    FrameAssembler,
    Rejected,
    Terminator,
    frame_problem,
)
from scanctl.drivers.hid import DEFAULT_INTER_KEY_TIMEOUT, HidDecoder, KeyEvent
from scanctl.drivers.hid_reader import HidScanner, open_input_device
from scanctl.drivers.keymaps import LAYOUTS, Layout, keymap_for
from scanctl.drivers.pipeline import ScanPipeline
from scanctl.drivers.protocol import ScannerDriver
from scanctl.drivers.serial import SerialScanner
from scanctl.drivers.simulated import (
    ArrivalCurve,
    CodeKind,
    CodeMixer,
    ScanMix,
    SimulatedScanner,
    SimulatedTickets,
)
from scanctl.drivers.stdin import StdinScanner
from scanctl.drivers.streams import read_scans
from scanctl.drivers.tcp import TcpScanner

__all__ = [
    "AIM_FAMILIES",
    "AIM_IDENTIFIERS",
    "DEFAULT_INTER_BYTE_TIMEOUT",
    "DEFAULT_INTER_KEY_TIMEOUT",
    "DEFAULT_MAX_LENGTH",
    "LAYOUTS",
    "SSI_BEEP_BAD",
    "SSI_BEEP_GOOD",
    "ArrivalCurve",
    "Backoff",
    "CodeKind",
    "CodeMixer",
    "DeviceNotFoundError",
    "DeviceUnavailableError",
    "DriverConfigError",
    "DriverCounters",
    "DriverError",
    "FeedbackEncoder",
    "FeedbackProtocol",
    "FrameAssembler",
    "HidDecoder",
    "HidScanner",
    "KeyEvent",
    "Layout",
    "OutageLog",
    "Reconnector",
    "Rejected",
    "ScanMix",
    "ScanPipeline",
    "ScannerDriver",
    "SerialScanner",
    "SimulatedScanner",
    "SimulatedTickets",
    "StdinScanner",
    "SymbologyFilter",
    "TcpScanner",
    "Terminator",
    "UnknownLayoutError",
    "describe",
    "frame_problem",
    "honeywell_host_ack",
    "keymap_for",
    "open_input_device",
    "read_scans",
    "split_aim",
    "ssi_checksum",
    "zebra_ssi_beep",
]
