"""Running an audit: ingest -> normalize -> check -> score, in partitions of whole sessions.

- :mod:`qa.audit.run`: the in-memory audit (:func:`audit`, :class:`AuditOptions`);
- :mod:`qa.audit.outofcore`: the same audit in session partitions spilled to disk;
- :mod:`qa.audit.partition`: the core contract every path runs on each partition
  (:func:`qa.audit.partition.audit_partition`) and the global message ids;
- :mod:`qa.audit.assemble`: the one place the partitions' results become an
  :class:`qa.model.AuditResult`;
- :mod:`qa.audit.compact`: the message table of audits that never hold all messages.

The cluster engines (:mod:`qa.engines`) produce partitions their own way and assemble them
with the same function.
"""
