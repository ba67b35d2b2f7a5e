# One run, or a session: the request, the set-up, the program, its report. Uses: every module above.

def main(announce=False):
    _b_os.closerange(CTRL_OUT + 1, 1 << 20)  # nothing but our pipes crosses into the program
    if announce:
        send_frame(WARM_FRAME)
    req = read_request_frame(CTRL_IN)
    # A session, or a run that asks the host for its input, keeps the request pipe: the
    # host's cells and answers come on it.
    session, host_input = req.get("session"), req.get("hostInput")
    if session:
        # The host may interrupt the first cell as soon as the ready frame is in: until a
        # cell runs, SIGINT waits (session_main keeps it blocked between cells).
        _signal.pthread_sigmask(_signal.SIG_BLOCK, {_signal.SIGINT})
    host_functions = req.get("hostFunctions") or []
    if not (session or host_input or host_functions):
        _b_os.close(CTRL_IN)
    if req["policy"] == "strict":
        load_strict_filter(req["seccomp"])
    _SECCOMP_LOADER[0] = None  # nothing of it stays reachable from the program
    send_frame(READY_FRAME)  # the jail came up: from here on, a failure is the program's
    apply_rlimits(req["rlimits"])
    if req["preload"]:
        try:
            import_preload(req["preload"], req["extraPaths"])  # in a zygote or pooled jail: loaded already
        except Exception:  # noqa: BLE001 - checked at create; a limit hit shows when the program imports it
            pass
    for rel, data in req["files"]:
        write_input_file(rel, data)
    _b_os.chdir(WORKSPACE)
    filename = req["filename"]
    sys.argv = [filename] + list(req["argv"])
    sys.path[:0] = [WORKSPACE]
    sys.path.extend(p for p in req["extraPaths"] if _is_dir(p))
    sys.addaudithook(_name_main_code)
    install_host_functions(host_functions, req.get("hostCallBytes", 0), session, host_input)
    if req["policy"] == "strict":
        install_policy()
    count_stdout()
    start_display(req.get("maxDisplayBytes", 0))
    if session:
        session_main(filename)  # never returns
    if host_input:
        install_host_input()

    status, out_of_memory = 0, False
    try:
        run_user_code(req["code"], filename)
    except SystemExit as exc:
        status = exit_code_of(exc)
        if status != 0:
            send_frame({"t": "error", "type": "SystemExit", "message": str(exc.code)[:2000], "traceback": ""})
    except BaseException as exc:  # noqa: BLE001 - every escape of the user's code is reported
        status = 1
        if isinstance(exc, MemoryError):
            out_of_memory = True
            release_user_memory(exc)
        report_exception(exc)
    if not out_of_memory:
        show_open_figures()
    flush_std()
    if req["collect"]:
        collect_files(req["collect"], req["maxFiles"], req["maxFileBytes"])
    exit_now(status)


if sys.argv[1:2] == ["zygote"]:
    if zygote_main() == "run":
        reseed_preloaded()
        warm_up()
        main(announce=True)
else:
    if sys.argv[1:2] == ["warm"]:
        preload()
        if len(sys.argv) > 2:  # warm <n> <n module names> <site paths...>
            n = int(sys.argv[2])
            try:
                import_preload(sys.argv[3:3 + n], sys.argv[3 + n:])
                warm_preloaded()
            except Exception:  # noqa: BLE001 - checked at create; the run's own request retries it
                pass
        _SECCOMP_LOADER[0] = seccomp_loader()
        warm_up()
    main()
