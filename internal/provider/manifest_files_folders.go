package provider

import (
	"context"
	"encoding/json"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/download"
)

// privateCreatedFolders is the private-state key of the folders the
// download created (download.Created): Delete removes those it empties, and
// never a folder that existed before.
const privateCreatedFolders = "created_folders"

const retainOnDestroyDescription = "`false` (default): destroy removes the files that are still as downloaded, and the folders the " +
	"download created once they are empty. `true`: destroy removes nothing (it logs that it kept the files), so that replacing the " +
	"resource — a new month's `manifest_id` — never deletes the previous download. Changing it downloads nothing. Destroy uses the " +
	"value recorded in state, so set it in an apply before the one that replaces or destroys the resource (from the start, for the " +
	"monthly replacement)."

const manifestFilesReplacement = "A new `manifest_id` (the monthly export) replaces the resource. With `lifecycle { " +
	"create_before_destroy = true }` the new manifest is downloaded before the previous files are removed, so a failed download " +
	"never leaves you without data; with `retain_on_destroy = true` the previous files are kept as well. Give each month its own " +
	"`directory` when both downloads must stay side by side."

func setCreatedFolders(ctx context.Context, private privateSetter, c download.Created) diag.Diagnostics {
	raw, err := json.Marshal(c)
	if err != nil {
		var d diag.Diagnostics
		d.AddError("Internal Error", "Encoding the folders the download created: "+err.Error())
		return d
	}
	return private.SetKey(ctx, privateCreatedFolders, raw)
}

// createdFolders is the record of setCreatedFolders; nil for a resource
// created before folders were recorded (download.Remove then removes the
// empty folders of the files and the directory, as those versions did).
func createdFolders(ctx context.Context, private privateGetter) *download.Created {
	raw, d := private.GetKey(ctx, privateCreatedFolders)
	if d.HasError() || len(raw) == 0 {
		return nil
	}
	var c download.Created
	if json.Unmarshal(raw, &c) != nil {
		return nil
	}
	return &c
}
