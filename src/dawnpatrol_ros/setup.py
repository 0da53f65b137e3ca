from setuptools import find_packages, setup

package_name = "dawnpatrol_ros"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
    ],
    install_requires=["setuptools"],
    package_data={"dawnpatrol_ros": ["py.typed"]},
    zip_safe=True,
    maintainer="DawnPatrol developers",
    maintainer_email="dev@dawnpatrol.dev",
    description="DawnPatrol ROS glue shared by every node: QoS, codecs, node base, parameters.",
    license="Apache-2.0",
)
