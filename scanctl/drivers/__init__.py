"""Scanner inputs (serial, HID, TCP, stdin, simulated) and feedback outputs."""
