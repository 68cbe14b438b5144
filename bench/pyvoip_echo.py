"""pyVoIP 1.6.8 as shipped, as the comparison subject of bench_gateway.py.

Registers to the bench's SIPp registrar, answers every call and echoes the caller's audio
back (one leg per call: pyVoIP cannot bridge two legs). Runs until SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any

from pyVoIP.VoIP import CallState, InvalidStateError, VoIPPhone


def echo(call: Any) -> None:
    """pyVoIP's call-back, on its own thread: answer, then echo until the call ends."""
    try:
        call.answer()
        while call.state == CallState.ANSWERED:
            call.write_audio(call.read_audio(160, True))
    except InvalidStateError:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--registrar", required=True, help="host:port of the SIPp registrar")
    parser.add_argument("--sip-port", type=int, required=True)
    parser.add_argument("--rtp-low", type=int, required=True)
    parser.add_argument("--rtp-high", type=int, required=True)
    args = parser.parse_args()
    host, port = args.registrar.rsplit(":", 1)
    phone = VoIPPhone(
        host,
        int(port),
        "1001",
        "bench-secret",
        myIP="127.0.0.1",
        callCallback=echo,
        sipPort=args.sip_port,
        rtpPortLow=args.rtp_low,
        rtpPortHigh=args.rtp_high,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    phone.start()
    print("registered", flush=True)
    stop.wait()
    phone.stop()


if __name__ == "__main__":
    main()
