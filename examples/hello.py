print("hello from pybox")
