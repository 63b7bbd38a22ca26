package provider

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSilenceUnrequestedLogs(t *testing.T) {
	t.Parallel()
	off := map[string]string{
		"TF_LOG_SDK": "OFF", "TF_LOG_SDK_PROTO": "OFF", "TF_LOG_SDK_FRAMEWORK": "OFF", "TF_LOG_PROVIDER_PARTNERBILLING": "OFF",
	}
	for name, tc := range map[string]struct {
		env       map[string]string
		wantQuiet bool
		wantSet   map[string]string
	}{
		"nothing set":                    {nil, true, off},
		"only unrelated variables":       {map[string]string{"TF_LOG_PATH": "/tmp/x", "TF_IN_AUTOMATION": "1"}, true, off},
		"TF_LOG empty is not a request":  {map[string]string{"TF_LOG": ""}, true, off},
		"TF_LOG":                         {map[string]string{"TF_LOG": "TRACE"}, false, nil},
		"TF_LOG_PROVIDER":                {map[string]string{"TF_LOG_PROVIDER": "DEBUG"}, false, nil},
		"TF_LOG_PROVIDER_PARTNERBILLING": {map[string]string{"TF_LOG_PROVIDER_PARTNERBILLING": "TRACE"}, false, nil},
		"TF_LOG_SDK":                     {map[string]string{"TF_LOG_SDK": "INFO"}, false, nil},
		"TF_LOG_SDK_FRAMEWORK":           {map[string]string{"TF_LOG_SDK_FRAMEWORK": "TRACE"}, false, nil},
		"TF_LOG_SDK_PROTO":               {map[string]string{"TF_LOG_SDK_PROTO": "TRACE"}, false, nil},
		"OFF is a request too":           {map[string]string{"TF_LOG_SDK": "OFF"}, false, nil},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			set := map[string]string{}
			quiet, err := silenceUnrequestedLogs(func(k string) string { return tc.env[k] },
				func(k, v string) error { set[k] = v; return nil })
			if err != nil {
				t.Fatal(err)
			}
			if quiet != tc.wantQuiet {
				t.Errorf("quiet = %v, want %v", quiet, tc.wantQuiet)
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
