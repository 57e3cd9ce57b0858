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
    SSI_BEEP_WARNING,
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
from scanctl.drivers.ssi import (
    CMD_ACK,
    CMD_NAK,
    DECODE_DATA,
    NAK_RESEND,
    SSI_CODE_TYPES,
    SsiDemux,
    SsiFrame,
    SsiLink,
    SsiPacket,
    SsiWrite,
    encode_packet,
)
from scanctl.drivers.stdin import STDIN_INTER_BYTE_TIMEOUT, StdinScanner
from scanctl.drivers.streams import read_scans
from scanctl.drivers.tcp import TcpScanner

__all__ = [
    "AIM_FAMILIES",
    "AIM_IDENTIFIERS",
    "CMD_ACK",
    "CMD_NAK",
    "DECODE_DATA",
    "DEFAULT_INTER_BYTE_TIMEOUT",
    "DEFAULT_INTER_KEY_TIMEOUT",
    "DEFAULT_MAX_LENGTH",
    "LAYOUTS",
    "NAK_RESEND",
    "SSI_BEEP_BAD",
    "SSI_BEEP_GOOD",
    "SSI_BEEP_WARNING",
    "SSI_CODE_TYPES",
    "STDIN_INTER_BYTE_TIMEOUT",
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
    "SsiDemux",
    "SsiFrame",
    "SsiLink",
    "SsiPacket",
    "SsiWrite",
    "StdinScanner",
    "SymbologyFilter",
    "TcpScanner",
    "Terminator",
    "UnknownLayoutError",
    "describe",
    "encode_packet",
    "frame_problem",
    "honeywell_host_ack",
    "keymap_for",
    "open_input_device",
    "read_scans",
    "split_aim",
    "ssi_checksum",
    "zebra_ssi_beep",
]
