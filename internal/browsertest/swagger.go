package browsertest

import (
	"context"
	"fmt"
	"strconv"

	"github.com/chromedp/chromedp"
)

// The API reference at /docs is Swagger UI; these actions work it by the
// ids and classes Swagger UI renders: #operations-<tag>-<operationId> for an
// operation, .try-out__btn, .btn.execute, and .live-responses-table for the
// answer of Try it out.

// Void is what a step's actions return.
type Void = chromedp.Void

// Operation is the selector of an operation's block in the API reference.
func Operation(tag, operationID string) chromedp.CSS {
	return chromedp.CSS("#operations-" + tag + "-" + operationID)
}

func within(parent chromedp.CSS, sel string) chromedp.CSS { return parent + chromedp.CSS(" "+sel) }

// OpenOperation expands the operation, if it is not already.
func OpenOperation(tag, operationID string) chromedp.Action[Void] {
	op := Operation(tag, operationID)
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := chromedp.Steps(chromedp.WaitVisible(op), chromedp.ScrollIntoView(op))(ctx, t); err != nil {
			return fmt.Errorf("operation %s: %w", operationID, err)
		}
		open, err := chromedp.Evaluate[bool](`document.querySelector(`+strconv.Quote(string(op))+`).classList.contains("is-open")`)(ctx, t)
		if err != nil {
			return err
		}
		if !open {
			if _, err := chromedp.Click(within(op, ".opblock-summary-control"))(ctx, t); err != nil {
				return fmt.Errorf("open %s: %w", operationID, err)
			}
		}
		_, err = chromedp.WaitVisible(within(op, ".opblock-body"))(ctx, t)
		return err
	})
}

// TryItOut presses the operation's "Try it out", which makes its parameters
// editable and shows Execute.
func TryItOut(tag, operationID string) chromedp.Action[Void] {
	op := Operation(tag, operationID)
	return chromedp.Steps(
		chromedp.Click(within(op, ".try-out__btn")),
		chromedp.WaitVisible(within(op, ".btn.execute")),
	)
}

// ParamValue reads the value of a parameter's input (after Try it out) into
// value.
func ParamValue(tag, operationID, param string, value *string) chromedp.Action[Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		v, err := chromedp.Value(paramInput(tag, operationID, param))(ctx, t)
		*value = v
		return err
	})
}

// SetParam types value into a parameter's input, over what it held, and
// leaves the input: Swagger UI debounces typing and takes the value at once
// when the input loses focus.
func SetParam(tag, operationID, param, value string) chromedp.Action[Void] {
	in := paramInput(tag, operationID, param)
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := chromedp.Steps(Fill(in, value), chromedp.Blur(in))(ctx, t); err != nil {
			return fmt.Errorf("operation %s, parameter %s: %w", operationID, param, err)
		}
		return nil
	})
}

func paramInput(tag, operationID, param string) chromedp.CSS {
	return within(Operation(tag, operationID), `tr[data-param-name="`+param+`"] input`)
}

// Execute presses Execute and waits for the answer, then reads its HTTP
// status and the text of its description (body and headers).
func Execute(tag, operationID string, status, body *string) chromedp.Action[Void] {
	op := Operation(tag, operationID)
	live := within(op, ".live-responses-table")
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Steps(
			chromedp.Click(within(op, ".btn.execute")),
			chromedp.WaitVisible(live+" tbody .response-col_status"),
			chromedp.ScrollIntoView(live),
		)(ctx, t)
		if err != nil {
			return err
		}
		if *status, err = chromedp.Text(live+" tbody .response-col_status")(ctx, t); err != nil {
			return err
		}
		*body, err = chromedp.Text(live+" tbody .response-col_description")(ctx, t)
		return err
	})
}

// Authorize opens the Authorize dialog, types value into the input of the
// security scheme named scheme (e.g. apiToken), submits it and closes the
// dialog.
func Authorize(scheme, value string) chromedp.Action[Void] {
	container := `//div[contains(@class,"auth-container")][.//h4[contains(., "` + scheme + `")]]`
	return chromedp.Steps(
		chromedp.Click(chromedp.CSS(".auth-wrapper .btn.authorize")),
		chromedp.WaitVisible(chromedp.Search(container+"//input")),
		chromedp.SendKeys(chromedp.Search(container+"//input"), value),
		chromedp.Click(chromedp.Search(container+`//button[contains(@class,"authorize")]`)),
		chromedp.WaitVisible(chromedp.Search(container+`//button[contains(., "Logout")]`)),
		chromedp.Click(chromedp.CSS(".modal-ux .btn-done")),
		chromedp.WaitNotPresent(chromedp.CSS(".modal-ux")),
	)
}

// Authorized waits until the Authorize button shows a closed lock: a token
// is set for Try it out.
func Authorized() chromedp.Action[Void] {
	return chromedp.WaitVisible(chromedp.CSS(".auth-wrapper .btn.authorize.locked"))
}
