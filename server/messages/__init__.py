"""Message catalogs, one module per area. Each module defines `VI` and `EN` dicts of key -> text.

`server.i18n` merges every module of this package, so an area adds its texts by adding a file.
Texts may hold `{name}` placeholders filled from the error's params.
"""
