"""A `tfds:NAME` source whose download fails (a loopback HTTP server without the file) is one
line: the dataset, the reason, where tensorflow-datasets prepares it and what to do offline."""
import numpy as np
import pytest
import tensorflow_datasets as tfds

from magenta_style.data.pipelines import SkippedRecords, content_dataset
from magenta_style.errors import DataError
from tests.helpers.http_server import LoopbackServer
from tests.helpers.optional import require

SERVED = {}  # the test's server: the builder below downloads from it


class DownloadProbe(tfds.core.GeneratorBasedBuilder):
    """A dataset whose files come from SERVED["url"]."""
    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict(
            {"image": tfds.features.Image(shape=(None, None, 3)), "label": np.int64}))

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples(dl_manager.download(SERVED["url"]))}

    def _generate_examples(self, path):
        raise AssertionError(f"nothing was downloaded, yet {path} came back")


def test_failed_tfds_download_is_one_line_saying_where_it_would_be_prepared(tmp_path):
    require("importlib_resources")  # tfds needs it to prepare datasets
    data_dir = str(tmp_path / "tfds")
    with LoopbackServer() as server:  # no files: 404, which tfds does not retry
        SERVED["url"] = server.url("/images.zip")
        with pytest.raises(DataError) as error:
            content_dataset("tfds:download_probe", batch_size=1, image_size=32,
                            tfds_data_dir=data_dir, skipped=SkippedRecords())
    assert str(error.value) == (
        f"tfds:download_probe: tensorflow-datasets could not download it (HTTP code: 404); it "
        f"prepares the dataset under {data_dir} (downloads in {data_dir}/downloads, files put "
        f"there by hand in {data_dir}/downloads/manual): run `tfds build download_probe "
        f"--data_dir={data_dir}` where there is network access and copy that folder here, or "
        "use local TFRecords or an image folder")
