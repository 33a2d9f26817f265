"""Every component ID of the atlas, in one place (tests and automation rely on them)."""

# Stable IDs named in the issue tracker (#3): never rename.
MAP = "map-graph"
SERIES = "series-graph"
METRIC = "metric-select"
LEVEL = "level-select"
PROGRAM = "program-select"
DONOR = "donor-select"
RECIPIENT = "recipient-select"
YEARS = "year-range"
LANG = "lang-select"

# The rest of the page.
URL = "url"
NAV_SINK = "nav-sink"
RESET_SINK = "reset-sink"
PAGE = "page"
# the address (path and query) of the page the layout came with (#7)
PAGE_SHOWN = "page-shown-store"
DONOR_UNIT = "donor-unit-select"
MEMORY = "memory-toggle"
FLOWS = "flows-toggle"
PLACE = "place-store"
FILTERS = "filters-store"
MAP_KEY = "map-key-store"
# the whole view the map, its words and the headlines show (#7)
MAP_VIEW = "map-view-store"
# a view whose headline totals ("at least X") follow the map's answer, and what follows
TOTALS_PENDING = "totals-pending-store"
TOTALS_FOLLOW = "totals-follow-store"
MAP_TITLE = "map-title"
MAP_NOTE = "map-note"
BACK = "back-button"
RESET = "reset-button"
PRESENT = "present-button"
HEADLINES = "headlines"
DETAIL = "detail-panel"
DETAIL_CLOSE = "detail-close"
TABLE_PAIRINGS = "table-pairings"
TABLE_FIGURES = "table-figures"
# a table page that could not be fetched in time says so here
TABLE_STATUS = {"pairings": "table-pairings-status", "figures": "table-figures-status"}
TABLE_TABS = "table-tabs"
# where each grid goes once the page puts the tables in (assets/tables_later.js), and the
# store that page sets then
TABLE_SLOT = {"pairings": "table-pairings-slot", "figures": "table-figures-slot"}
TABLES_MOUNT = "tables-mount"
TABLE_FILTERS = "table-filters-store"
DOWNLOAD_CSV = "download-csv-button"
DOWNLOAD_XLSX = "download-xlsx-button"
DOWNLOAD = "table-download"
DOWNLOAD_STATUS = "table-download-status"
SERIES_NOTE = "series-note"

# Accessibility (#13): the keyboard's way to a place, the charts' text alternatives, the
# one polite live region, and the stores that drive focus and announcements.
PLACE_SEARCH = "place-search"
PLACE_SEARCH_ASK = "place-search-ask-store"  # the box took focus: list the places in view
PLACE_SEARCH_LISTED = "place-search-listed-store"  # which list the box holds (a digest)
MAP_CARD = "map-card"
MAP_SUMMARY = "map-summary"
SERIES_SUMMARY = "series-summary"
TABLE_CARD = "table-card"
ANNOUNCE = "announce"
ANNOUNCED = "announced-store"
FOCUS_REQUEST = "focus-request-store"

# Time playback and presenter mode (#9).
YEAR = "year-select"  # the single year (time playback); YEARS is the range
YEAR_MODE = "year-mode"  # range | year | cumulative
PLAYBACK = "playback"
PLAY = "play-button"
PLAY_STAGE = "play-stage-button"  # the same, on the presenter's stage
STEP_BACK = "step-back-button"
STEP_FORWARD = "step-forward-button"
SPEED = "speed-select"
TICK = "playback-tick"
PLAYING = "playing-store"
URL_REPLACE = "url-replace-store"  # a step's URL, written without a history entry
SERIES_KEY = "series-key-store"
YEAR_BADGE = "year-badge"
SOURCE_LINE = "source-line"

# Phone layout (#9): the filters' drawer and its button.
FILTERS_PANEL = "filters-panel"
FILTERS_TOGGLE = "filters-toggle"
