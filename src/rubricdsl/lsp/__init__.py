"""`rubric lsp`: a language server for rubric files (pygls, over standard input and
output). One module per concern: `server` wires the features to pygls; `document`
holds what is known of one open file (its lint diagnostics, AST, IR and the `index`
of names); `hover`, `navigation`, `completion`, `symbols`, `formatting` and `actions`
answer the requests; `positions` converts spans to the protocol's ranges.

Only this package imports pygls and lsprotocol; `cli/lsp.py` imports it when
`rubric lsp` runs, so no other command pays for it."""
