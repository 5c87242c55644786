"""The front-ends: the CLI, the REPL and Discord. They parse and render only,
through ``bot.Engine`` and the ``bot`` and ``index`` front doors."""
