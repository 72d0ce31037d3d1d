from django.utils.translation import gettext_lazy as _

from smartclinic.core.errors import ApplicationError


class InsufficientBalance(ApplicationError):
    code = "billing.insufficient_balance"
    status = 409
    message = _("Your campus card balance is not enough for this payment. Top it up at the cashier.")


class OrderNotPayable(ApplicationError):
    code = "billing.order_not_payable"
    status = 409
    message = _("This order cannot be paid: it is already paid, refunded or cancelled.")


class AppointmentNotPayable(ApplicationError):
    code = "billing.appointment_not_payable"
    status = 409
    message = _("This appointment cannot be paid any more (it was cancelled or has ended).")


class MethodNotAllowed(ApplicationError):
    code = "billing.method_not_allowed"
    status = 422
    message = _("This payment method cannot be used here.")


class WechatUnavailable(ApplicationError):
    code = "billing.wechat_unavailable"
    status = 409
    message = _("WeChat Pay is not available right now. Pay with your campus card or at the cashier.")


class WechatOpenidRequired(ApplicationError):
    code = "billing.wechat_openid_required"
    status = 422
    message = _("Open this page inside WeChat to pay with WeChat Pay.")


class ProviderError(ApplicationError):
    code = "billing.provider_error"
    status = 502
    message = _("WeChat Pay did not answer as expected. Nothing was charged; try again in a moment.")


class InvalidOrderLines(ApplicationError):
    code = "billing.invalid_order_lines"
    status = 422
    message = _("The order lines are missing or invalid.")


class InvalidAmount(ApplicationError):
    code = "billing.invalid_amount"
    status = 422
    message = _("The amount must be a whole number of fen between %(low)s and %(high)s.")


class RefundNotCompletable(ApplicationError):
    code = "billing.refund_not_completable"
    status = 409
    message = _("This refund is not waiting for the cashier.")


class InvalidStatement(ApplicationError):
    code = "billing.invalid_statement"
    status = 422
    message = _("The statement is not a WeChat Pay trade bill (CSV): %(reason)s")
