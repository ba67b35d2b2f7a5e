# The `pybox` module a program imports (`from pybox import host`): made here, not found on
# sys.path, so it is there under every policy and costs no import. Each feature adds its
# names to it in a section of its own. Uses: prelude.

PYBOX_MODULE = type(sys)("pybox")
PYBOX_MODULE.__doc__ = "What pybox gives the program running in its jail."
sys.modules["pybox"] = PYBOX_MODULE
