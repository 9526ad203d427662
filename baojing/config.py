"""Default settings. Override in instance/config.py or with BAOJING_<NAME> environment variables."""


class Defaults:
    # SQLite in instance/ unless overridden; see extensions.configure_sqlite for the pragmas.
    SQLALCHEMY_DATABASE_URI = None  # filled in by create_app from the instance path
    SQLITE_BUSY_TIMEOUT_MS = 5000
    # SQLAlchemy puts bound values (ID numbers, phones) into its error messages,
    # which end up in the log; keep them out (SECURITY.md item 31).
    SQLALCHEMY_ENGINE_OPTIONS = {"hide_parameters": True}

    # Sessions: a server-side record per login (models.users.UserSession) backs the cookie.
    SESSION_IDLE_MINUTES = 30
    SESSION_ABSOLUTE_HOURS = 12
    SESSION_COOKIE_NAME = "baojing_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # Set True (BAOJING_SESSION_COOKIE_SECURE=1) when served over HTTPS; `flask deploy check` insists.
    SESSION_COOKIE_SECURE = False
    # The cookie only names the server-side session, whose own record tracks idle
    # time; re-signing it on every response would cost every page for nothing.
    SESSION_REFRESH_EACH_REQUEST = False
    # Re-enter the password before granting roles or resetting passwords if the
    # login is older than this.
    REAUTH_MINUTES = 10

    # CSRF tokens live as long as the session can (create_app derives the limit from
    # SESSION_ABSOLUTE_HOURS): a counter page left open all day must still submit.
    WTF_CSRF_SSL_STRICT = True

    # Account lockout: LOGIN_MAX_FAILURES failures within LOGIN_FAILURE_WINDOW_MINUTES
    # lock the account for LOGIN_LOCK_MINUTES.
    LOGIN_MAX_FAILURES = 10
    LOGIN_FAILURE_WINDOW_MINUTES = 15
    LOGIN_LOCK_MINUTES = 15
    # Per address: this many refused logins within LOGIN_FAILURE_WINDOW_MINUTES, over any
    # accounts (a guesser walking usernames never locks one), and the address is refused
    # without a password check until older failures leave the window. Generous: a township
    # office or a mobile carrier puts many people behind one address.
    LOGIN_ADDRESS_MAX_FAILURES = 30

    # Password policy. Default follows OWASP ASVS 5 / NIST 800-63B: length only, no
    # composition rules, no forced expiry. Sites that must follow GB/T 22239 level 2
    # (等保二级) set PASSWORD_MIN_CLASSES = 3 and PASSWORD_MAX_AGE_DAYS = 90.
    PASSWORD_MIN_LENGTH = 12
    PASSWORD_MAX_LENGTH = 128
    PASSWORD_MIN_CLASSES = 0
    PASSWORD_MAX_AGE_DAYS = 0

    # Second factor (TOTP). Who may turn it on, and who must. Default: available to
    # county and township admins, required of no one, so that a county can roll it
    # out at its own pace; production instances are advised to require it of
    # county_admin (README "Settings and the choices made").
    TOTP_ROLES = ("county_admin", "township_officer")
    TOTP_REQUIRED_ROLES = ()
    TOTP_ISSUER = "保靖流动党员之家"
    # Between a correct password and the code, this long at most.
    TOTP_PENDING_SECONDS = 300

    # Member alerts (DOMAIN.md): re-registration due after N months; 6 months without
    # contact is the 失联 risk of art. 24/29.
    REVERIFY_MONTHS = 12
    NO_CONTACT_MONTHS = 6

    MEMBERS_PER_PAGE = 20
    AUDIT_PER_PAGE = 50
    # Audit rows younger than this cannot be purged (Cybersecurity Law art. 21: >= 6 months).
    AUDIT_RETENTION_DAYS = 183

    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    DISPLAY_TIMEZONE = "Asia/Shanghai"

    # Static files carry a content hash in their URL, so they can be cached for a year.
    SEND_FILE_MAX_AGE_DEFAULT = 365 * 24 * 3600
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024
    # A care visit's photos: per photo, before re-encoding (phones resize before upload
    # when they can; this is for those that cannot). UPLOAD_FOLDER defaults to instance/uploads.
    CARE_PHOTO_MAX_BYTES = 8 * 1024 * 1024
    # An announcement's attachment (a PDF of a notice, a photo), before re-encoding.
    HUB_ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024

    # /verify/<code> is public: per address, enough for a person checking papers at a
    # desk, too few to walk the code space. PUBLIC_BASE_URL, when set, is what QR codes
    # on PDFs point at (otherwise the address the issuing request came in on).
    VERIFY_RATE_LIMIT = "30 per minute; 300 per day"
    # /contacts is public too: generous, since a migrant may search several times, but
    # a scraper walking every page many times over is turned away.
    CONTACTS_RATE_LIMIT = "60 per minute; 1000 per day"
    RATELIMIT_STORAGE_URI = "memory://"
    PUBLIC_BASE_URL = ""
    # The sending committee's details printed on transfer letters (DOMAIN.md).
    TRANSFER_SENDER = {
        "address": "湖南省湘西土家族苗族自治州保靖县",
        "phone": "",
        "fax": "",
        "postcode": "416500",
    }
    # Roster import (/members/import, `flask members import`): the largest spreadsheet
    # taken, in bytes and in rows; bigger rosters are split into several files.
    ROSTER_MAX_BYTES = 10 * 1024 * 1024
    ROSTER_MAX_ROWS = 20000

    # Where `flask pdf fonts` puts the prepared CJK font cut (default instance/fonts).
    PDF_FONT_DIR = ""
