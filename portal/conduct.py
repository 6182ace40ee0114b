"""Conduct rules (DOMAIN 3.8): leave requests walk the department head's route (FSS 4(1)1)."""

from models.conduct import LeaveRequest
from portal import approvals

approvals.register(LeaveRequest, all_roles={"HR"})
