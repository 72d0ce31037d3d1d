from django.utils.translation import gettext_lazy as _

from smartclinic.core.errors import ApplicationError


class InvalidCredentials(ApplicationError):
    code = "identity.invalid_credentials"
    status = 401
    message = _("The username or password is wrong.")


class TokenExpired(ApplicationError):
    code = "auth.token_expired"
    status = 401
    message = _("Your session has expired; sign in again.")


class BindingMismatch(ApplicationError):
    code = "identity.binding_mismatch"
    status = 422
    message = _("These details do not match the campus roster. Check the number, name and card number.")


class BindingLocked(ApplicationError):
    code = "identity.binding_locked"
    status = 429
    message = _("Too many failed attempts. Card binding is locked for this account until %(until)s.")


class MemberInactive(ApplicationError):
    code = "identity.member_inactive"
    status = 403
    message = _("This campus member is not active (graduated, left or suspended).")


class MemberAlreadyBound(ApplicationError):
    code = "identity.member_already_bound"
    status = 409
    message = _("This campus card is already bound to another account. Ask the clinic's front desk to unbind it.")


class AccountAlreadyBound(ApplicationError):
    code = "identity.account_already_bound"
    status = 409
    message = _("Your account is already bound to a campus card. Unbind it first.")


class NotBound(ApplicationError):
    code = "identity.not_bound"
    status = 409
    message = _("No campus card is bound to this account.")


class DependantsStaffOnly(ApplicationError):
    code = "identity.dependants_staff_only"
    status = 403
    message = _("Only staff members with a bound card can register family members.")


class DuplicateDependant(ApplicationError):
    code = "identity.duplicate_dependant"
    status = 409
    message = _("This family member is already registered.")


class InvalidNationalId(ApplicationError):
    code = "identity.invalid_national_id"
    status = 422
    message = _("The national ID number is not valid.")
