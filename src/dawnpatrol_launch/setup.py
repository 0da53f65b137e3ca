from setuptools import find_packages, setup

package_name = "dawnpatrol_launch"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
    ],
    install_requires=["setuptools"],
    package_data={"dawnpatrol_launch": ["py.typed"]},
    zip_safe=True,
    maintainer="DawnPatrol developers",
    maintainer_email="dev@dawnpatrol.dev",
    description="dawnpatrol-launch: ROS 2 XML launch files without ros2 launch.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "dawnpatrol-launch = dawnpatrol_launch.cli:main",
        ],
    },
)
