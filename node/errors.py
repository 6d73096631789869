"""The node's error tree.

Domain errors know nothing of HTTP. Each carries a message id -- an English sentence that
says what happened and what to do, marked for translation with `N_` -- and, where it
helps, the field it is about. The web edge (`node.web.failures`) gives each kind its HTTP
status in one table and renders the message in the person's language; the CLI prints it.
Messages never include what the person typed, so they can be logged and shown safely.
"""

from __future__ import annotations

from node.i18n import N_


class NodeError(Exception):
    message = N_("Something went wrong. Nothing you entered was sent. Please try again.")

    def __init__(self, message: str | None = None, *, field: str | None = None,
                 **params: object) -> None:
        if message is not None:
            self.message = message
        self.field = field
        self.params = params
        super().__init__(self.message)


class InvalidInput(NodeError):
    message = N_("Some answers could not be saved. Check the marked answers and try again.")


class TextTooLong(InvalidInput):
    message = N_("This answer is too long (at most %(limit)s characters). "
                 "Shorten it, or send the rest later with your receipt.")


class UnknownChoice(InvalidInput):
    message = N_("This choice is not on the list. Choose one of the options shown.")


class BadDate(InvalidInput):
    message = N_("This date is not possible. Check the day, month and year, or leave them empty.")


class FileTooLarge(NodeError):
    message = N_("The file %(name)s is larger than %(limit)s MB and was not added. "
                 "Choose a smaller file or send it later with your receipt.")


class TotalTooLarge(NodeError):
    message = N_("The file %(name)s was not added: all files together may not exceed %(limit)s MB.")


class TooManyFiles(NodeError):
    message = N_("The file %(name)s was not added: at most %(limit)s files can be sent.")


class FileTypeNotAllowed(NodeError):
    message = N_("The file %(name)s was not added: only photos, audio, video and documents "
                 "(PDF, Word, OpenDocument, text) can be sent.")


class EmptyFile(NodeError):
    message = N_("The file %(name)s is empty and was not added.")


class EmptyReport(InvalidInput):
    message = N_("There is nothing to send yet. Write something, answer a question or add a file.")


class ReceiptFormat(NodeError):
    message = N_("This receipt number is not complete or has a typo. "
                 "It has 10 digits. Check it and try again.")


class SecretFormat(NodeError):
    message = N_("This secret is not complete or has a typo. "
                 "It has 21 digits. Check it and try again.")


class ReceiptRejected(NodeError):
    message = N_("No report could be opened with this receipt number and secret. "
                 "Check both and try again.")


class ReceiptMaybeLost(ReceiptRejected):
    """A receipt that opens nothing, shortly after the node was restored from a backup
    (issue 21): every such receipt gets this answer, so it tells nothing about which
    receipts existed."""

    message = N_("No report could be opened with this receipt number and secret. This "
                 "organisation lost data in an incident: a report sent on or after "
                 "%(since)s may have been lost. We are sorry. If you sent yours then, "
                 "please report again. If not, check both numbers and try again.")


class RateLimited(NodeError):
    message = N_("Too many attempts in a short time. Wait a few minutes, then try again.")


class SessionExpired(NodeError):
    message = N_("This page has expired to protect you. Nothing was sent. "
                 "Start again from the link below.")


class NotFound(NodeError):
    message = N_("This page does not exist.")


class NotAuthenticated(NodeError):
    message = N_("Please sign in.")


class LoginFailed(NodeError):
    message = N_("Sign-in failed: the username or passphrase is not right.")


class Forbidden(NodeError):
    message = N_("Your account is not allowed to do this.")


class ReportGone(NodeError):
    message = N_("This report has been deleted.")


class ConsentMissing(NodeError):
    message = N_("The reporter has not agreed to this use of their report (%(consent)s). "
                 "Nothing was done. Their choices can change at any time through their receipt.")


class Busy(NodeError):
    message = N_("The service is busy. Nothing was lost. Please try again in a minute.")
