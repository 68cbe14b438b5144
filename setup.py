"""The one native part: RTP relaying off the interpreter (telephony/_rtprelay.c).

Optional: where it cannot be compiled (no C compiler or Python headers) the package still
installs, and the media engine relays in Python (`[media] relay = "python"` is then what runs).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "telephony._rtprelay",
            sources=["telephony/_rtprelay.c"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
            optional=True,
        )
    ]
)
