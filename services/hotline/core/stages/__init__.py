"""One pure handler per stage: its state and a batch of inputs -> what to send and what
to store.

The Faust agents (hotline.stream.agents), the offline chains (hotline.evaluation) and the
bench call the same handlers, so the pipeline's rules are wired in one place. A handler
reads its stored state through a `StateView` and returns `Step`s: the messages to send
(`Sent`) and the table writes that record them (`Written`). The caller sends first and
writes after (hotline.stream.write_order), so a crash never stores progress whose
messages were lost.
"""
