package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
)

// The hand-written validators. Every other string rule in a schema uses
// terraform-plugin-framework-validators; each one here says why the
// library's message would be worse.

// idValidator checks an operation or manifest id with graph.ValidID, the
// rule the client itself enforces before an id goes into a request path.
// Hand-written: stringvalidator.RegexMatches would copy that rule (a second
// source of truth) and could not say where a valid id comes from.
type idValidator struct {
	what string // "operation" or "manifest"
	hint string // where a valid id comes from
}

var (
	operationIDValidator = idValidator{what: "operation", hint: "use the GUID from the export's Location header"}
	manifestIDValidator  = idValidator{what: "manifest", hint: "use the manifest_id of a succeeded export operation"}
)

func (v idValidator) Description(context.Context) string {
	return "must contain only letters, digits and '-', at most 128 characters"
}

func (v idValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v idValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if id := req.ConfigValue.ValueString(); !graph.ValidID(id) {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid "+capitalize(v.what)+" ID",
			fmt.Sprintf("%q is not a%s %s id: %s (letters, digits and '-' only, at most 128 characters).", id, article(v.what), v.what, v.hint))
	}
}

// article is "n" before a vowel, for "an operation id" / "a manifest id".
func article(word string) string {
	if word != "" && strings.ContainsRune("aeiou", rune(word[0])) {
		return "n"
	}
	return ""
}

// durationValidator checks a duration argument with its parse function.
// Hand-written: the validators library has no duration rule, and
// timetypes.GoDuration accepts negative durations (its message even offers
// "-1.5h" as an example); these say what "" and a negative value would
// have meant.
type durationValidator struct {
	summary, description string
	parse                func(string) (time.Duration, error)
}

var (
	// waitTimeoutValidator: wait_timeout, where "0s" means read once.
	waitTimeoutValidator = durationValidator{
		summary: "Invalid Wait Timeout", description: "must be a non-negative Go duration such as \"90s\", \"30m\" or \"1h\"",
		parse: parseWaitTimeout,
	}
	// timeoutValidator: an action's timeout, where "0s" would give up
	// before the first poll.
	timeoutValidator = durationValidator{
		summary: "Invalid Timeout", description: "must be a positive Go duration such as \"30m\" or \"2h\"",
		parse: parseActionTimeout,
	}
)

func (v durationValidator) Description(context.Context) string { return v.description }

func (v durationValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v durationValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := v.parse(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, v.summary, capitalize(err.Error())+".")
	}
}

// durationExamples are the examples every duration message gives (SPEC §2:
// one friendly message for every duration argument, never a negative one).
const durationExamples = `"90s", "30m" or "2h"`

// notADuration is the one message for a duration argument that does not
// parse ("45 minutes", "30").
func notADuration(s string) error {
	return fmt.Errorf("%q is not a duration: use a number with a unit, such as %s", s, durationExamples)
}

// parseActionTimeout reads an action's timeout: a positive Go duration.
func parseActionTimeout(s string) (time.Duration, error) {
	return parsePositiveDuration(s)
}

// parsePositiveDuration reads a timeout (an action's timeout,
// timeouts.create): a positive Go duration.
func parsePositiveDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return 0, notADuration(s)
	case d <= 0:
		return 0, fmt.Errorf("%q is not a positive duration: a timeout such as %s says how long to wait", s, durationExamples)
	}
	return d, nil
}

var currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)

// currencyCodeValidator checks currency_code. Hand-written: with
// stringvalidator.RegexMatches, "usd" (the likeliest mistake) would only be
// told the rule; this one answers with the value to write, "USD".
type currencyCodeValidator struct{}

func (currencyCodeValidator) Description(context.Context) string {
	return "must be an ISO 4217 currency code in upper case, such as \"USD\""
}

func (v currencyCodeValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (currencyCodeValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	v := req.ConfigValue.ValueString()
	if currencyRE.MatchString(v) {
		return
	}
	detail := fmt.Sprintf("%q is not an ISO 4217 currency code: use three upper-case letters, such as \"USD\" or \"EUR\".", v)
	if up := strings.ToUpper(v); currencyRE.MatchString(up) {
		detail = fmt.Sprintf("%q is not an ISO 4217 currency code: write it in upper case, %q.", v, up)
	}
	resp.Diagnostics.AddAttributeError(req.Path, "Invalid Currency Code", detail)
}

// createTimeoutsBlock is timeouts.Block without the module's own duration
// check, whose message offers "-1.5h" as an example: validateCreateTimeout
// (each resource's ValidateConfig) checks timeouts.create instead, with the
// message every duration argument gives.
func createTimeoutsBlock(ctx context.Context, opts timeouts.Opts) schema.Block {
	b := timeouts.Block(ctx, opts)
	nb, ok := b.(schema.SingleNestedBlock)
	if !ok {
		return b // a future module version: keep its check rather than none
	}
	attrs := make(map[string]schema.Attribute, len(nb.Attributes))
	for name, a := range nb.Attributes {
		if sa, ok := a.(schema.StringAttribute); ok {
			sa.Validators = nil
			a = sa
		}
		attrs[name] = a
	}
	nb.Attributes = attrs
	return nb
}
