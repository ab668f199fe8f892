package main

// A faithful harness of node-problem-detector's custom plugin monitor, the
// parts that decide what a plugin's answer becomes. NPD's Go module is not
// served here, so its code cannot be linked; this file follows its source
// line by line instead (kubernetes/node-problem-detector at
// 6632ca67148f7a23df9cdbd98d9e89b388561a3a, Apache-2.0):
//   - pkg/custompluginmonitor/types/config.go: the JSON schema,
//     ApplyConfiguration (defaults) and Validate;
//   - pkg/custompluginmonitor/plugin/plugin.go: Plugin.run (process group,
//     timeout → SIGKILL of the group, 4 KiB read cap, TrimSpace, the
//     timeout message, the cut at max_output_length, the exit code map);
//   - pkg/custompluginmonitor/custom_plugin_monitor.go: generateStatus
//     (temporary → event at NonOK or Unknown; permanent → condition
//     True/False/Unknown).
// TestNPDHarnessUpstreamCases holds it to NPD's own unit test
// (plugin_test.go, TestNewPluginRun) with NPD's own scripts.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

type cpmStatus int

const (
	cpmOK      cpmStatus = 0
	cpmNonOK   cpmStatus = 1
	cpmUnknown cpmStatus = 2
)

const maxCustomPluginBufferBytes = 1024 * 4

type cpmCondition struct {
	Type    string `json:"type"`
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

type cpmRule struct {
	Type                 string         `json:"type"`
	Condition            string         `json:"condition"`
	Reason               string         `json:"reason"`
	Path                 string         `json:"path"`
	Args                 []string       `json:"args"`
	TimeoutString        *string        `json:"timeout"`
	Timeout              *time.Duration `json:"-"`
	InvokeIntervalString *string        `json:"invoke_interval,omitempty"`
	InvokeInterval       *time.Duration `json:"-"`
}

type cpmGlobal struct {
	InvokeIntervalString                    *string        `json:"invoke_interval,omitempty"`
	TimeoutString                           *string        `json:"timeout,omitempty"`
	InvokeInterval                          *time.Duration `json:"-"`
	Timeout                                 *time.Duration `json:"-"`
	MaxOutputLength                         *int           `json:"max_output_length,omitempty"`
	Concurrency                             *int           `json:"concurrency,omitempty"`
	EnableMessageChangeBasedConditionUpdate *bool          `json:"enable_message_change_based_condition_update,omitempty"`
	SkipInitialStatus                       *bool          `json:"skip_initial_status,omitempty"`
}

type cpmConfig struct {
	Plugin                 string         `json:"plugin,omitempty"`
	PluginGlobalConfig     cpmGlobal      `json:"pluginConfig,omitempty"`
	Source                 string         `json:"source"`
	DefaultConditions      []cpmCondition `json:"conditions"`
	Rules                  []*cpmRule     `json:"rules"`
	EnableMetricsReporting *bool          `json:"metricsReporting,omitempty"`
}

// loadCPMConfig is NewCustomPluginMonitorOrDie's reading: json.Unmarshal
// (not strict: NPD ignores unknown keys), ApplyConfiguration, Validate.
func loadCPMConfig(data []byte, validate bool) (*cpmConfig, error) {
	var c cpmConfig
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("unmarshal: %w", err)
	}
	if err := c.apply(); err != nil {
		return nil, err
	}
	if validate {
		if err := c.validate(); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

func ptr[T any](v T) *T { return &v }

func (c *cpmConfig) apply() error {
	g := &c.PluginGlobalConfig
	if g.TimeoutString == nil {
		g.TimeoutString = ptr("5s")
	}
	t, err := time.ParseDuration(*g.TimeoutString)
	if err != nil {
		return fmt.Errorf("error in parsing global timeout %q: %v", *g.TimeoutString, err)
	}
	g.Timeout = &t
	if g.InvokeIntervalString == nil {
		g.InvokeIntervalString = ptr("30s")
	}
	iv, err := time.ParseDuration(*g.InvokeIntervalString)
	if err != nil {
		return fmt.Errorf("error in parsing invoke interval %q: %v", *g.InvokeIntervalString, err)
	}
	g.InvokeInterval = &iv
	if g.MaxOutputLength == nil {
		g.MaxOutputLength = ptr(80)
	}
	if g.Concurrency == nil {
		g.Concurrency = ptr(3)
	}
	if g.EnableMessageChangeBasedConditionUpdate == nil {
		g.EnableMessageChangeBasedConditionUpdate = ptr(false)
	}
	if g.SkipInitialStatus == nil {
		g.SkipInitialStatus = ptr(false)
	}
	for _, r := range c.Rules {
		if r.TimeoutString != nil {
			t, err := time.ParseDuration(*r.TimeoutString)
			if err != nil {
				return fmt.Errorf("error in parsing rule timeout %+v: %v", r, err)
			}
			r.Timeout = &t
		}
		if r.InvokeIntervalString != nil {
			iv, err := time.ParseDuration(*r.InvokeIntervalString)
			if err != nil {
				return fmt.Errorf("error in parsing rule invoke interval %+v: %v", r, err)
			}
			r.InvokeInterval = &iv
		}
	}
	if c.EnableMetricsReporting == nil {
		c.EnableMetricsReporting = ptr(true)
	}
	return nil
}

func (c *cpmConfig) validate() error {
	if c.Plugin != "custom" {
		return fmt.Errorf("NPD does not support %q plugin for now. Only support \"custom\"", c.Plugin)
	}
	if *c.PluginGlobalConfig.InvokeInterval <= 0 {
		return fmt.Errorf("global invoke interval must be greater than zero: %v", *c.PluginGlobalConfig.InvokeInterval)
	}
	for _, r := range c.Rules {
		if r.InvokeInterval != nil && *r.InvokeInterval <= 0 {
			return fmt.Errorf("rule invoke interval must be greater than zero. Rule: %+v", r)
		}
		if r.Timeout != nil && *r.Timeout > *c.PluginGlobalConfig.Timeout {
			return fmt.Errorf("plugin timeout is greater than global timeout. Rule: %+v. Global timeout: %v", r, c.PluginGlobalConfig.Timeout)
		}
	}
	for _, r := range c.Rules {
		if _, err := os.Stat(r.Path); os.IsNotExist(err) {
			return fmt.Errorf("rule path %q does not exist. Rule: %+v", r.Path, r)
		}
	}
	for _, r := range c.Rules {
		if r.Type != "permanent" {
			continue
		}
		found := false
		for _, cond := range c.DefaultConditions {
			found = found || cond.Type == r.Condition
		}
		if !found {
			return fmt.Errorf("permanent problem %s does not have preset default condition", r.Condition)
		}
	}
	return nil
}

// npdReadFromReader is plugin.go's readFromReader.
func npdReadFromReader(r io.ReadCloser, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max))
	if err != nil {
		return []byte{}, err
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return []byte{}, err
	}
	return data, nil
}

// npdRun is plugin.go's Plugin.run, klog calls left out.
func (c *cpmConfig) npdRun(rule cpmRule) (cpmStatus, string) {
	var ctx context.Context
	var cancel context.CancelFunc
	if rule.Timeout != nil && *rule.Timeout < *c.PluginGlobalConfig.Timeout {
		ctx, cancel = context.WithTimeout(context.Background(), *rule.Timeout)
	} else {
		ctx, cancel = context.WithTimeout(context.Background(), *c.PluginGlobalConfig.Timeout)
	}
	defer cancel()
	// util.Exec: a process group of its own.
	cmd := exec.CommandContext(ctx, rule.Path, rule.Args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdoutPipe, err := cmd.StdoutPipe()
	if err != nil {
		return cpmUnknown, "Error creating stdout pipe for plugin. Please check the error log"
	}
	stderrPipe, err := cmd.StderrPipe()
	if err != nil {
		return cpmUnknown, "Error creating stderr pipe for plugin. Please check the error log"
	}
	if err := cmd.Start(); err != nil {
		return cpmUnknown, "Error in starting plugin. Please check the error log"
	}
	waitChan := make(chan struct{})
	defer close(waitChan)
	var m sync.Mutex
	timeout := false
	go func() {
		select {
		case <-ctx.Done():
			if ctx.Err() == context.Canceled {
				return
			}
			if cmd.Process == nil || cmd.Process.Pid == 0 {
				break
			}
			m.Lock()
			timeout = true
			m.Unlock()
			// util.Kill: the whole group.
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		case <-waitChan:
			return
		}
	}()
	var (
		wg                   sync.WaitGroup
		stdout               []byte
		stdoutErr, stderrErr error
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		stdout, stdoutErr = npdReadFromReader(stdoutPipe, maxCustomPluginBufferBytes)
	}()
	go func() {
		defer wg.Done()
		_, stderrErr = npdReadFromReader(stderrPipe, maxCustomPluginBufferBytes)
	}()
	wg.Wait()
	if stdoutErr != nil {
		return cpmUnknown, "Error reading stdout for plugin. Please check the error log"
	}
	if stderrErr != nil {
		return cpmUnknown, "Error reading stderr for plugin. Please check the error log"
	}
	if err := cmd.Wait(); err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			return cpmUnknown, "Error in waiting for plugin. Please check the error log"
		}
	}
	output := strings.TrimSpace(string(stdout))
	m.Lock()
	killed := timeout
	m.Unlock()
	if killed {
		output = fmt.Sprintf("Timeout when running plugin %q: state - %s. output - %q", rule.Path, cmd.ProcessState.String(), output)
	}
	if len(output) > *c.PluginGlobalConfig.MaxOutputLength {
		output = output[:*c.PluginGlobalConfig.MaxOutputLength]
	}
	switch cmd.ProcessState.Sys().(syscall.WaitStatus).ExitStatus() {
	case 0:
		return cpmOK, output
	case 1:
		return cpmNonOK, output
	default:
		return cpmUnknown, output
	}
}

// npdOutcome is what generateStatus makes of one result, from the default
// conditions: an event (temporary rules, at NonOK or Unknown) or the
// condition's new status, reason and message (permanent rules).
type npdOutcome struct {
	Event                              bool
	EventReason, EventMessage          string
	Condition, Status, Reason, Message string
}

func (c *cpmConfig) outcome(rule *cpmRule, st cpmStatus, msg string) npdOutcome {
	if rule.Type == "temporary" {
		if st >= cpmNonOK {
			return npdOutcome{Event: true, EventReason: rule.Reason, EventMessage: msg}
		}
		return npdOutcome{}
	}
	var def cpmCondition
	for _, d := range c.DefaultConditions {
		if d.Type == rule.Condition {
			def = d
		}
	}
	// From the initial False condition (initialConditions).
	switch st {
	case cpmNonOK: // Scenario 2
		return npdOutcome{Condition: rule.Condition, Status: "True", Reason: rule.Reason, Message: msg}
	case cpmOK: // Scenario 5: unchanged
		return npdOutcome{Condition: rule.Condition, Status: "False", Reason: def.Reason, Message: def.Message}
	default: // Scenario 3: the result's message is kept for debugging
		return npdOutcome{Condition: rule.Condition, Status: "Unknown", Reason: def.Reason, Message: msg}
	}
}
