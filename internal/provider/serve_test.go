package provider

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestQuietLogging(t *testing.T) {
	t.Parallel()
	all := func(level string) map[string]string {
		return map[string]string{"TF_LOG_SDK": level, "TF_LOG_SDK_PROTO": level, "TF_LOG_SDK_FRAMEWORK": level, "TF_LOG_PROVIDER_PARTNERBILLING": level}
	}
	for name, tc := range map[string]struct {
		env     map[string]string
		debug   bool
		wantSet map[string]string
		want    logSetup
	}{
		"nothing set: every logger off":                {nil, false, all("OFF"), logSetup{pluginLoggerOff: true}},
		"only unrelated variables":                     {map[string]string{"TF_LOG_PATH": "/tmp/x", "TF_IN_AUTOMATION": "1"}, false, all("OFF"), logSetup{pluginLoggerOff: true}},
		"TF_LOG empty asks for nothing":                {map[string]string{"TF_LOG": ""}, false, all("OFF"), logSetup{pluginLoggerOff: true}},
		"TF_LOG=TRACE changes nothing":                 {map[string]string{"TF_LOG": "trace"}, false, nil, logSetup{debugLines: true, frameworkLines: true}},
		"TF_LOG=JSON is TRACE":                         {map[string]string{"TF_LOG": "JSON"}, false, nil, logSetup{debugLines: true, frameworkLines: true}},
		"an unknown TF_LOG is TRACE, as for Terraform": {map[string]string{"TF_LOG": "verbose"}, false, nil, logSetup{debugLines: true, frameworkLines: true}},
		"TF_TEMP_LOG_PATH is a TRACE sink":             {map[string]string{"TF_TEMP_LOG_PATH": "/tmp/t.log"}, false, nil, logSetup{debugLines: true, frameworkLines: true}},
		"TF_LOG_CORE alone shows no plugin line":       {map[string]string{"TF_LOG_CORE": "TRACE"}, false, all("OFF"), logSetup{pluginLoggerOff: true}},
		"TF_LOG=INFO: unset loggers at INFO":           {map[string]string{"TF_LOG": "INFO"}, false, all("INFO"), logSetup{}},
		"TF_LOG_PROVIDER=DEBUG":                        {map[string]string{"TF_LOG_PROVIDER": "DEBUG"}, false, all("DEBUG"), logSetup{debugLines: true, frameworkLines: true}},
		"TF_LOG_PROVIDER wins over TF_LOG":             {map[string]string{"TF_LOG_PROVIDER": "OFF", "TF_LOG": "TRACE"}, false, all("OFF"), logSetup{pluginLoggerOff: true}},
		"issue 13's logging OFF set": {
			map[string]string{"TF_LOG_PROVIDER": "OFF", "TF_LOG_SDK": "OFF", "TF_LOG_SDK_FRAMEWORK": "OFF", "TF_LOG_SDK_PROTO": "OFF"}, false,
			map[string]string{"TF_LOG_PROVIDER_PARTNERBILLING": "OFF"}, logSetup{pluginLoggerOff: true},
		},
		"a logger's own variable is kept": {
			map[string]string{"TF_LOG_SDK_PROTO": "TRACE"}, false,
			map[string]string{"TF_LOG_SDK": "OFF", "TF_LOG_SDK_FRAMEWORK": "OFF", "TF_LOG_PROVIDER_PARTNERBILLING": "OFF"}, logSetup{pluginLoggerOff: true},
		},
		"the provider's own variable decides its debug lines": {
			map[string]string{"TF_LOG_PROVIDER_PARTNERBILLING": "DEBUG"}, false,
			map[string]string{"TF_LOG_SDK": "OFF", "TF_LOG_SDK_PROTO": "OFF", "TF_LOG_SDK_FRAMEWORK": "OFF"}, logSetup{pluginLoggerOff: true, debugLines: true},
		},
		"-debug writes to a terminal: untouched": {nil, true, nil, logSetup{debugLines: true, frameworkLines: true}},
		"the framework's own variable decides its lines": {
			map[string]string{"TF_LOG_SDK_FRAMEWORK": "TRACE"}, false,
			map[string]string{"TF_LOG_SDK": "OFF", "TF_LOG_SDK_PROTO": "OFF", "TF_LOG_PROVIDER_PARTNERBILLING": "OFF"}, logSetup{pluginLoggerOff: true, frameworkLines: true},
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			set := map[string]string{}
			got, err := quietLogging(func(k string) string { return tc.env[k] },
				func(k, v string) error { set[k] = v; return nil }, tc.debug)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("setup = %+v, want %+v", got, tc.want)
			}
			if tc.wantSet == nil {
				tc.wantSet = map[string]string{}
			}
			if diff := cmp.Diff(tc.wantSet, set); diff != "" {
				t.Errorf("variables set (-want +got):\n%s", diff)
			}
		})
	}
}
