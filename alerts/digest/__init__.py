"""Digests: one scheduled message per subscription listing new, ongoing and resolved alerts.

A subscription (``digests:`` in the rules file, :class:`Subscription`) picks alerts
by country, department, signal and minimum severity and names a receiver, a language
and a schedule (daily or weekly, at a local time). At each scheduled time the
dispatcher asks :meth:`Digests.due` for what to send; a digest is an ordinary
:class:`~vigia.schema.Notification` sent through the receiver's sink and the delivery
outbox, and logged in the notification log under ``digest:<name>:<slot>``: a logged
slot is never sent again (after a restart too), and a crash between the outbox and
the log is repaired at start-up like any notification. Digests do not replace the
route tree: critical alerts still reach their routes' receivers at once.

(Import from the modules: :mod:`~vigia.alerts.digest.subscription` is read by the rules
file's configuration, which the engine that :mod:`~vigia.alerts.digest.compose` uses imports.)
"""
