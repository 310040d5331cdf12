"""The dashboard: a Textual app that shows and repairs a job system through the contract.

Data flows one way: :mod:`.poller` (client, in its own thread) → :mod:`.state` (last good
data, staleness, errors) → the tab views. :mod:`.keys` is the one registry of keys that the
footer, the help screen and the command palette all read.
"""
