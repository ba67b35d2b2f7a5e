# id: intro-pickle-reduce
# category: introspection
# description: pickle.loads runs a GLOBAL+REDUCE opcode pair: os.system with a shell command that writes the token
# source: pickle docs ("never unpickle data from an untrusted source"); classic deserialisation RCE
# detect: token (a shell started by the unpickler writes the token to OUT)
import pickle

command = "printf %s '" + TOKEN + "' > '" + OUT + "'"
payload = b'cos\nsystem\n(' + b'V' + command.encode() + b'\ntR.'
pickle.loads(payload)
