from django.utils.translation import gettext_lazy as _

from smartclinic.core.errors import ApplicationError


class EncounterClosed(ApplicationError):
    code = "visits.encounter_closed"
    status = 409
    message = _("This visit is already finished; its record can no longer be changed.")


class DiagnosisRequired(ApplicationError):
    code = "visits.diagnosis_required"
    status = 409
    message = _("Add at least one diagnosis before finishing the visit.")


class UnknownDiagnosis(ApplicationError):
    code = "visits.unknown_diagnosis"
    status = 422
    message = _("%(code)s is not in the clinic's ICD-10 table. Pick the diagnosis from the list.")


class TooManyDiagnoses(ApplicationError):
    code = "visits.too_many_diagnoses"
    status = 422
    message = _("A visit can have at most %(limit)s diagnoses.")


class RecordTooLong(ApplicationError):
    code = "visits.record_too_long"
    status = 422
    message = _("%(field)s is too long (at most %(limit)s characters).")


class PriceItemUnavailable(ApplicationError):
    code = "visits.price_item_unavailable"
    status = 422
    message = _("This item is not on the clinic's price list (any more).")


class InvalidQuantity(ApplicationError):
    code = "visits.invalid_quantity"
    status = 422
    message = _("The quantity must be between 1 and %(limit)s.")


class TooManyOrders(ApplicationError):
    code = "visits.too_many_orders"
    status = 422
    message = _("A visit can have at most %(limit)s order lines.")


class OrderAlreadySent(ApplicationError):
    code = "visits.order_already_sent"
    status = 409
    message = _("This order was already sent to the patient for payment; ask the cashier to cancel it.")


class InvalidTransfer(ApplicationError):
    code = "visits.invalid_transfer"
    status = 422
    message = _("Patients can only be transferred to another doctor of the same department seeing patients today.")
