"""The protocol's one error: the caller's request breaks a rule (answered 400, or INVALID_ARGUMENT
over gRPC). Every message names the field and the problem."""


class InvalidRequest(ValueError):
    status = 400
