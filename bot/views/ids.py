"""Callback, block and action ids shared by views, handlers and the manifest."""

from bot import application_form, approval_form, key_download, watching

COMMAND = "/cert"

# Modals (callback ids)
NEW_ORDER = "new_order"
PICK_PURCHASE = "pick_purchase"
COMPLETE = "complete_order"
CONFIRM_SUBMIT = "confirm_submit"
KEY_DOWNLOAD = "key_download"
CONFIRM_REVOKE = "confirm_revoke"
CONFIRM_PURGE_KEY = "confirm_purge_key"
ADD_WATCHER = "add_watcher"
CONFIRM_CANCEL = "confirm_cancel"
REJECT_REASON = "reject_reason"
OVERRIDE_REASON = "override_reason"

# New order inputs (block ids; each holds one element whose action id is the same)
PRODUCT = "product"
DOMAIN_TYPE = "domain_type"
DOMAIN_COUNT = "domain_count"
VALIDITY = "validity"
# Picking a purchase from the CA account (the option's value is the CA's purchase ref)
PURCHASE_REF = "purchase_ref"

# Complete-information inputs (those bot.application_form checks by name are its names)
DOMAINS = application_form.DOMAINS
DOMAINS_FILE = application_form.DOMAINS_FILE
APPLICANT_NAME = "applicant_name"
APPLICANT_EMAIL = "applicant_email"
APPLICANT_PHONE = "applicant_phone"
SAVED_ORG = application_form.SAVED_ORG
ORG_LEGAL_NAME = "org_legal_name"
ORG_COUNTRY = "org_country"
ORG_STATE = "org_state"
ORG_CITY = "org_city"
ORG_STREET = "org_street"
ORG_POSTAL_CODE = "org_postal_code"
ORG_PHONE = "org_phone"
ORG_REGISTRATION_NUMBER = application_form.REGISTRATION_NUMBER
CSR_METHOD = application_form.CSR_METHOD
KEY_ALGORITHM = application_form.KEY_ALGORITHM
CSR_TEXT = application_form.CSR_TEXT
CSR_FILE = application_form.CSR_FILE
# Inputs the use cases check name their fields by these block ids.
WATCHER_USERS = watching.WATCHER_USERS
KEY_FORMAT = key_download.KEY_FORMAT
KEY_PASSPHRASE = key_download.KEY_PASSPHRASE
KEY_PASSPHRASE_AGAIN = key_download.KEY_PASSPHRASE_AGAIN
KEY_PLAIN_OK = key_download.KEY_PLAIN_OK
REVOKE_REASON = "revoke_reason"

# The reason typed in the reject and override modals (the use case checks it by this name)
APPROVAL_REASON = approval_form.REASON

# Buttons (action ids); the button's value is the order's number
OPEN_COMPLETE = "open_complete"
SHOW_STATUS = "show_status"
CHECK_NOW = "check_now"
RESEND_VERIFICATION = "resend_verification"
SNOOZE = "snooze"
REVISE = "revise"
RENEW = "renew"
DOWNLOAD_KEY = "download_key"
DELETE_KEY_FILE = "delete_key_file"
PURGE_KEY = "purge_key"
OPEN_WATCHERS = "open_watchers"
CANCEL_ORDER = "cancel_order"
REVOKE = "revoke"
APPROVE = "approve"
LIST_OLDER = "list_older"
LIST_NEWER = "list_newer"
REJECT = "reject"
# Home tab button (no order): opens the new-order modal
OPEN_NEW_ORDER = "open_new_order"
