/**
 * run_python_code returns the value of the program's last expression, as mcp-run-python
 * does. A one-shot run has no such value, so the program is wrapped: a small Python
 * driver (itself the run's main.py) parses the user's code, runs all but a trailing
 * expression statement, evaluates that expression, and writes the outcome (the value as
 * text, or the user's traceback without the driver's frames) to a hidden workspace file
 * named by a per-call nonce, which the host collects. Top-level `await` works as there.
 *
 * Everything in that file is guest-written text, like stdout: it shapes the tool's
 * answer, never a verdict; limits and statuses still come from the supervisor.
 */
import { randomBytes } from 'node:crypto';

export interface WrappedProgram {
  code: string;
  /** Workspace name of the outcome file (hidden, so a `**` collect never lists it twice). */
  outcomePath: string;
}

/** Python literal of a string: JSON's string syntax is a subset of Python's. */
const pyString = (s: string): string => JSON.stringify(s);

const DRIVER = `
def __pybox_mcp(src, variables, out, as_json):
    import json, sys, linecache
    own = {__pybox_mcp.__code__}
    g = globals()
    del g["__pybox_mcp"]
    g.update(variables)
    linecache.cache["main.py"] = (len(src), None, src.splitlines(True), "main.py")

    def encode(value):
        if value is None:
            return None
        if isinstance(value, str) and not as_json:
            return value
        def fallback(v):
            if isinstance(v, (set, frozenset)):
                return list(v)
            if isinstance(v, (bytes, bytearray)):
                return bytes(v).decode("utf-8", "replace")
            return repr(v)
        try:
            return json.dumps(value, indent=2, default=fallback, ensure_ascii=False)
        except (TypeError, ValueError, RecursionError):
            return json.dumps(repr(value), ensure_ascii=False)

    def finish(outcome):
        with open(out, "w", encoding="utf-8") as f:
            json.dump(outcome, f, ensure_ascii=False)

    try:
        import ast
        tree = ast.parse(src, "main.py")
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = compile(ast.Expression(tree.body.pop().value), "main.py", "eval", ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        body = compile(tree, "main.py", "exec", ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        if (body.co_flags | (last.co_flags if last else 0)) & 0x80:  # CO_COROUTINE: top-level await
            async def both():
                r = eval(body, g)
                if body.co_flags & 0x80:
                    await r
                if last is None:
                    return None
                v = eval(last, g)
                return (await v) if last.co_flags & 0x80 else v
            own.add(both.__code__)
            import asyncio
            value = asyncio.run(both())
        else:
            eval(body, g)
            value = eval(last, g) if last is not None else None
        sys.stdout.flush()
        sys.stderr.flush()
        finish({"ok": True, "value": encode(value)})
    except BaseException as e:
        sys.stdout.flush()
        sys.stderr.flush()
        if isinstance(e, SystemExit) and e.code in (None, 0):
            finish({"ok": True, "value": None})
            return
        import traceback
        tb = e.__traceback__
        while tb is not None and (tb.tb_frame.f_code in own or tb.tb_frame.f_code.co_filename != "main.py"):
            tb = tb.tb_next
        finish({"ok": False, "error": "".join(traceback.format_exception(type(e), e, tb))})
`;

export function wrapProgram(code: string, globals: Record<string, unknown>, asJson: boolean): WrappedProgram {
  const outcomePath = `.pybox-mcp-${randomBytes(12).toString('hex')}.json`;
  const call = `__pybox_mcp(${pyString(code)}, __import__("json").loads(${pyString(JSON.stringify(globals))}), ${pyString(outcomePath)}, ${asJson ? 'True' : 'False'})\n`;
  return { code: DRIVER + call, outcomePath };
}
