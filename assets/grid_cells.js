/* Cell renderers for the atlas's dash-ag-grid tables (loaded by Dash from assets/).
 *
 * SourceLinks draws a source cell from the pieces the server sends
 * (components/callbacks.py, source_parts): [{text, url?}, ...]. Text is set as React
 * text (escaped), never as HTML; a piece becomes a link only when its url is http(s),
 * so a record can never inject markup or a javascript: link.
 */
(function () {
    "use strict";
    var funcs = (window.dashAgGridComponentFunctions =
        window.dashAgGridComponentFunctions || {});
    var SAFE_URL = /^https?:\/\//i;

    funcs.SourceLinks = function (props) {
        var parts = Array.isArray(props.value) ? props.value : [];
        var children = parts.map(function (part, i) {
            if (!part || typeof part !== "object") {
                return null;
            }
            var text = part.text === undefined || part.text === null ? "" : String(part.text);
            var url = typeof part.url === "string" ? part.url : "";
            if (url && SAFE_URL.test(url)) {
                return React.createElement(
                    "a",
                    {key: i, href: url, target: "_blank", rel: "noopener noreferrer", title: url},
                    text
                );
            }
            return React.createElement("span", {key: i}, text);
        });
        return React.createElement("span", {className: "source-cell"}, children);
    };

    /* ScopeRecipient: the recipient as text; for a figure about several places together
     * (the server sends its id as data.scope_id, issue #10) a link after it that opens the
     * same view with scope=<id>, which outlines the figure's members on the map. */
    funcs.ScopeRecipient = function (props) {
        var text = props.value === undefined || props.value === null ? "" : String(props.value);
        var id = props.data && props.data.scope_id;
        if (typeof id !== "number" || !isFinite(id) || id <= 0) {
            return React.createElement("span", null, text);
        }
        var params = new URLSearchParams(window.location.search);
        params.set("scope", String(Math.floor(id)));
        var label = (props.colDef && props.colDef.cellRendererParams &&
                     props.colDef.cellRendererParams.label) || props.label || "";
        return React.createElement("span", {className: "scope-cell"}, [
            React.createElement("span", {key: "t"}, text + " "),
            React.createElement(
                "a",
                {key: "a", href: "?" + params.toString(), className: "scope-link",
                 title: label, "aria-label": label + ": " + text},
                "⌖"
            ),
        ]);
    };
})();
